"""The catalogue: products and gift boxes, retail and distributor prices, price history."""
