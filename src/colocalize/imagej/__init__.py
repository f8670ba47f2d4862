"""The Fiji/ImageJ bridge: the only part of colocalize that touches Java.

Nothing here is imported by the core; importing this package does not start a JVM.
"""
