"""Customer lifetime value (rule R7): BG/NBD and Gamma-Gamma fitted by maximum likelihood with
scipy (``models``), customer summaries from customer-day arrays (``summary``), the mart computed
per month end (``compute``) and the Dagster asset that reads and writes the warehouse (``assets``)."""
