"""Reports built from the published serving database only: an offline HTML dashboard and XLSX
workbooks per branch, labelled in Chinese or English."""
