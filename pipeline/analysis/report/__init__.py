"""The report: notebooks/report.ipynb, executed by the ``report`` stage, shows what the stages wrote.

One module per concern, imported by the notebook and ``stages/report.py`` directly:

* :mod:`.prose`: the definitions, the deviations from the paper and its code, banners and notes (text only);
* :mod:`.inputs`: typed loaders of this run's outputs and of the runs archived under ``results/``;
* :mod:`.tables`: the tables the notebook displays, built from the loaded inputs, and their cell formats;
* :mod:`.provenance`: git and environment facts;
* :mod:`.render`: papermill execution, stripping of volatile output, nbconvert HTML.

The report computes no aggregate a stage owns: means and stds over seeds come from summarize's
``metrics/summary.json`` and ``metrics/arms.json``. Re-running on unchanged inputs gives identical files.
"""
