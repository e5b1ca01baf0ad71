"""Quarterly credit rating (rule R6): quarterly partitions, the ``credit_rating_quarterly`` job and
its schedule, the override gate and the XLSX rating report per quarter.

The rating itself is the dbt model ``marts.mart_credit_rating`` (with ``int_credit_*``); this
package runs it per quarter through Dagster and writes the review workbook.
"""
