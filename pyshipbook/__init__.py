"""shipbook: the order-shipping workflow of a WeChat merchant, in an Excel workbook."""

__version__ = "0.1.0"
