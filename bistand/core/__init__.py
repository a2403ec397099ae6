"""Process logic: models, rules, norm. Never imports a browser or Robot Framework."""
