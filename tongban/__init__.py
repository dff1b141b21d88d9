"""Tongban (通办): Internet + Government Services for a Chinese city or county."""
