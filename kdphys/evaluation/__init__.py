"""Evaluation: ``evaluate`` (paper-style tables with the app's readings beside them), ``metrics`` (MAE,
RMSE, Pearson, Bland-Altman), contact references are parsed by ``kdphys.data.reference``."""
