"""Electronic supervision (电子监察): every open case and stage against its time limit (issue 6)."""
