"""The report: notebooks/report.ipynb, executed by the ``report`` stage, shows what the stages wrote.

One module per concern, imported by the notebook and ``stages/report.py`` directly:

* :mod:`.prose`: the definitions, the deviations from the paper and its code, banners, captions (text only);
* :mod:`.inputs`: typed loaders of this run's outputs and of the runs archived under ``results/``;
* :mod:`.verdicts`: one judged row per claim (the deciding source, where it was tested, the rule's bar
  and reason in the claim's units), in the report's order, and the verdict counts;
* :mod:`.summary`: the opening lines generated from the judged rows;
* :mod:`.markup`: the HTML of the first screen (summary, counts, glance table, folded untested claims)
  and of the per-claim evidence table, with the report's style sheet;
* :mod:`.format`: every number by its unit (percent, points, MB, ms, x, GLUE x 100);
* :mod:`.names`: what models and run sets are called, in the text, the figures and the plots page;
* :mod:`.tables` and :mod:`.study`: this run's and the archived CPU study's tables;
* :mod:`.provenance`: git and environment facts;
* :mod:`.render`: papermill execution, stripping of volatile output, nbconvert HTML.

The report computes no aggregate a stage owns: means and stds over seeds come from summarize's
``metrics/summary.json`` and ``metrics/arms.json``. Re-running on unchanged inputs gives identical files.
"""
