"""Dock widgets of the main window: frame browser, class palette, tool options, jobs panel."""
