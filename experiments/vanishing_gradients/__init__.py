"""`nnhw vanishing-gradients`: gradient flow against depth, activation and initialisation, held
against variance-propagation theory. The roles are in config, compute, cells, findings, figures
and report (runs.studies); theory and fits are the study's own."""
