"""The pricing catalog: providers, regions, instance types, offers and serverless offers."""
