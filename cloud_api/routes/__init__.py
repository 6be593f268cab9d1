"""HTTP routers, one per API area; ``cloud_api.app`` includes them."""
