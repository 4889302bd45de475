"""The forecast's sales history: what real sales fed it, and past seasons imported from CSV."""
