"""The DPO report: the one-page report and the record of processing, after every retention apply."""
