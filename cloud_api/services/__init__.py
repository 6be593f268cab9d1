"""Business rules of the cloud: keyword-only ``*, session`` functions, no FastAPI."""
