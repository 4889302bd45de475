"""Stock and purchasing: receipts of rice, sugar and packaging, adjustments and write-offs,
material requirements from the published plan, purchase orders to suppliers."""
