"""What the runs say: sparsity, aggregation over seeds, claims and verdicts, the report, figures, the plots page, archives."""
