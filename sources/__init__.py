"""Django-free readers of every outside data source Ballast takes numbers from.

Each module reads one source and hands back plain data: `sources.aws_prices` (EC2 on-demand
prices from the AWS Price List and spot prices from the spot price history, into a
`ballast.pricing-catalog/v1` catalog) and `sources.prometheus` (range queries against a
Prometheus server's HTTP API). The cloud bills reader (AWS Cost Explorer, or the Cost and Usage
Report) goes here too. Who may read what, the credentials and the storage stay in the apps
(`apps.catalog`, `apps.workloads`), which call these modules; nothing here writes to a cloud.
"""
