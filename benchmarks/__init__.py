"""fsel's speed and quality benchmarks (measurements, not tests); run with ``make bench``."""
