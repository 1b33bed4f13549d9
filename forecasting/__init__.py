"""Django-free load forecasting: forecasters, backtests, model selection and a CLI."""
