"""Speech to text behind one interface (base.py); one module per engine, models loaded once per process."""
