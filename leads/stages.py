"""The words of a lead's life: its stages and the actions that happen to it.

Apart from leads.machine (which re-exports them) so that the models can use
them and the machine can use the models.
"""

from django.db import models


class Stage(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NO_DECISION = "no_decision", "No decision"
    NURTURE = "nurture", "Nurture / recycled"
    DISQUALIFIED = "disqualified", "Disqualified"
    # A duplicate folded into another lead (its events shown in that lead's history).
    MERGED = "merged", "Merged into another lead"


OPEN_STAGES = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
CLOSED_STAGES = (Stage.WON, Stage.LOST, Stage.NO_DECISION)
SALES_WORKING = (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
# What an imported past lead may have become (it was never handed off).
HISTORY_STAGES = (Stage.WON, Stage.LOST, Stage.NO_DECISION, Stage.NURTURE, Stage.DISQUALIFIED)


class Action(models.TextChoices):
    INGEST = "ingested", "Ingested"
    UPDATE = "updated", "Updated by its source"
    RESCORE = "rescored", "Qualified on new data"
    QUEUE = "queued", "Queued for a rep"
    HAND_OFF = "handed_off", "Handed off"
    ACCEPT = "accepted", "Accepted"
    REJECT = "rejected", "Rejected"
    TOUCH = "touched", "Touch logged"
    PAUSE = "paused", "Paused"
    QUALIFY = "qualified", "Qualified (SQL)"
    CONVERT = "converted", "Converted to opportunity"
    CLOSE = "closed", "Closed"
    REASSIGN = "reassigned", "Reassigned"
    RETURN = "returned", "Returned to marketing"
    RECYCLE = "recycled", "Sent to sales again"
    DISQUALIFY = "disqualified", "Disqualified"
    DISPUTE = "disputed", "Rejection disputed"
    IMPORT_HISTORY = "imported", "Imported as history"
    MERGE = "merged", "Merged into another lead"
    MERGE_IN = "merged_in", "Another lead merged in"
