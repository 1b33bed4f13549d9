"""Server-rendered pages: the home page now, Plotly dashboards later."""
