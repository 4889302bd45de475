"""The Flask app: storefront, distributor portal, manager console, JSON API, payments and the
`gaogan` CLI. The composition root: `shop.app.create_app()` wires everything."""
