"""Cross correlation (CCC): the public functions, the FFT engine, the profile and its fit."""
