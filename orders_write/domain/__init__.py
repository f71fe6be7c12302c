"""The order domain in plain Python: no Django import may appear in this package."""
