# The leads fixtures (an agreed MQL definition, territories, reasons) serve here too.
from tests.leads.conftest import mql_in_force, reasons, territories  # noqa: F401
from tests.sla.engine import agreement, refuse  # noqa: F401, E402
