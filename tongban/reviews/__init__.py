"""Good/bad reviews (好差评): ratings, rectification of bad ones, appeals, public statistics (issue 6)."""
