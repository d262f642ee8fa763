"""Pages of the CSV import. Thin: parse, call one service in leads.imports, render.

The upload view reads the Content-Length before Django parses the body: a file
over the limit is refused without reading it all. CSRF is checked after that
(csrf_exempt outside, csrf_protect inside), because the CSRF middleware would
parse the whole multipart body to find its token (Django's documented pattern
for custom upload handlers).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from alignment.csvexport import csv_response
from alignment.permissions import capability_required
from leads import csv_files, import_rows, imports
from leads.models import Campaign, ImportMode, ImportStatus, LeadImport

# Room for the multipart boundaries and the other fields around the file.
FORM_OVERHEAD = 64 * 1024
REJECTIONS_SHOWN = 100
RECENT_IMPORTS = 20
TOO_BIG = (
    f"The file is larger than {imports.MAX_UPLOAD_BYTES // 1024 // 1024} MB, the limit for one "
    "import. Split it into smaller files and upload them one by one."
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"Comma-separated, with a header row; up to "
        f"{imports.MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
    )


class EncodingForm(forms.Form):
    encoding = forms.ChoiceField(
        label="The file's encoding",
        choices=[(e, csv_files.ENCODINGS[e]) for e in csv_files.FALLBACK_ENCODINGS],
        widget=forms.RadioSelect,
        initial="cp1252",
    )


class MappingForm(forms.Form):
    source = forms.CharField(
        label="Source",
        max_length=100,
        required=False,
        help_text="Every lead of this file gets this source (a column mapped to Source wins).",
    )
    campaign = forms.ModelChoiceField(
        Campaign.objects.all(), required=False, empty_label="No campaign", label="Campaign"
    )
    mode = forms.ChoiceField(
        label="Import as",
        choices=ImportMode.choices,
        widget=forms.RadioSelect,
        initial=ImportMode.NORMAL,
    )
    history_column = forms.TypedChoiceField(
        label="Outcome or stage column",
        coerce=int,
        required=False,
        empty_value=None,
    )
    history_stages = forms.CharField(
        label="Stage for each value",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, value = stage (won, lost, no_decision, nurture, disqualified).",
    )
    history_date_column = forms.TypedChoiceField(
        label="Closed date column (optional; otherwise now)",
        coerce=int,
        required=False,
        empty_value=None,
    )

    def __init__(self, *args, lead_import: LeadImport, samples: list[list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_import = lead_import
        column_choices = [("", "—")] + [
            (str(i), c["name"] or f"column {i + 1}") for i, c in enumerate(lead_import.columns)
        ]
        self.fields["history_column"].choices = column_choices
        self.fields["history_date_column"].choices = column_choices
        self.columns = []
        for index, column in enumerate(lead_import.columns):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=column["name"] or f"column {index + 1}",
                choices=list(import_rows.FIELD_LABELS.items()),
                initial=lead_import.mapping[index]
                if lead_import.mapping
                else import_rows.ATTRIBUTE,
            )
            self.columns.append(
                {
                    "index": index,
                    "name": column["name"] or f"(blank header, column {index + 1})",
                    "field": self[name],
                    "samples": [
                        r[index] for r in samples if index < len(r) and csv_files.blank(r[index])
                    ][:3],
                    "values": column.get("values"),
                }
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data[f"col_{i}"] for i in range(len(self.lead_import.columns))]

    def stages(self) -> dict[str, str]:
        if self.cleaned_data["mode"] != ImportMode.HISTORY:
            return {}
        return import_rows.parse_stage_mapping(self.cleaned_data["history_stages"])


def _mapping_initial(lead_import: LeadImport) -> dict:
    history = lead_import.history or {}
    return {
        "source": lead_import.source,
        "campaign": lead_import.campaign_id,
        "mode": lead_import.mode,
        "history_column": history.get("column"),
        "history_date_column": history.get("date_column"),
        "history_stages": "\n".join(f"{v} = {s}" for v, s in history.get("stages", {}).items()),
    }


class SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the limit (when a client sent
    no Content-Length, or a wrong one)."""

    def __init__(self, request=None, limit: int = imports.MAX_UPLOAD_BYTES):
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            # Read and drop the rest (not reset), so the browser gets our answer.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _recent():
    return LeadImport.objects.select_related("created_by")[:RECENT_IMPORTS]


@csrf_exempt
@capability_required("import_leads")
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > imports.MAX_UPLOAD_BYTES + FORM_OVERHEAD:
            return render(
                request,
                "leads/import_start.html",
                {"form": UploadForm(), "refused": TOO_BIG, "imports": _recent()},
                status=413,
            )
        limiter = SizeLimitHandler(request)
        request.upload_handlers.insert(0, limiter)
        request._import_limiter = limiter
    return _import_start(request)


@csrf_protect
def _import_start(request: HttpRequest) -> HttpResponse:
    refused = ""
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if request._import_limiter.exceeded:
            refused, status = TOO_BIG, 413
        elif form.is_valid():
            try:
                lead_import = imports.lead_import_upload(
                    upload=form.cleaned_data["file"], by=request.user
                )
            except csv_files.ImportRefused as exc:
                refused, status = str(exc), 400
            else:
                return redirect("leads:import_detail", pk=lead_import.pk)
        else:
            status = 400
    else:
        form = UploadForm()
    return render(
        request,
        "leads/import_start.html",
        {"form": form, "refused": refused, "imports": _recent()},
        status=status,
    )


def _get_import(pk: int) -> LeadImport:
    return get_object_or_404(LeadImport.objects.select_related("created_by", "campaign"), pk=pk)


def _progress_context(lead_import: LeadImport) -> dict:
    rejections = []
    if lead_import.rejected_count:
        rejections = list(lead_import.rejections.all()[:REJECTIONS_SHOWN])
    return {
        "lead_import": lead_import,
        "rejections": rejections,
        "rejections_shown": REJECTIONS_SHOWN,
        "accounted": lead_import.created_count
        + lead_import.updated_count
        + lead_import.rejected_count,
    }


@capability_required("import_leads")
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead_import = _get_import(pk)
    action = request.POST.get("action") if request.method == "POST" else None
    status = 200
    encoding_form = EncodingForm(initial={"encoding": lead_import.encoding or "cp1252"})
    mapping_form = None

    if action == "resume":
        imports.lead_import_resume(lead_import=lead_import, by=request.user)
        return redirect("leads:import_detail", pk=pk)

    if action == "encoding":
        encoding_form = EncodingForm(request.POST)
        encoding_form.fields["encoding"].choices = list(csv_files.ENCODINGS.items())
        if encoding_form.is_valid():
            try:
                imports.lead_import_set_encoding(
                    lead_import=lead_import,
                    encoding=encoding_form.cleaned_data["encoding"],
                    by=request.user,
                )
            except (ValidationError, csv_files.ImportRefused) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return redirect("leads:import_detail", pk=pk)
        status = 400

    preview = (
        imports.preview_rows(lead_import) if lead_import.status == ImportStatus.UPLOADED else []
    )
    samples = [cells for _, cells in preview]
    if lead_import.status == ImportStatus.UPLOADED and lead_import.encoding:
        if action != "start":
            mapping_form = MappingForm(
                initial=_mapping_initial(lead_import), lead_import=lead_import, samples=samples
            )
        else:
            mapping_form = MappingForm(request.POST, lead_import=lead_import, samples=samples)
            if _start(request, lead_import, mapping_form):
                return redirect("leads:import_detail", pk=pk)
            status = 400
    return render(
        request,
        "leads/import_detail.html",
        {
            **_progress_context(lead_import),
            "encoding_form": encoding_form,
            "encodings": csv_files.ENCODINGS,
            "mapping_form": mapping_form,
            "preview": preview,
            "preview_flagged": _flagged(lead_import, preview),
        },
        status=status,
    )


def _flagged(lead_import: LeadImport, preview: list) -> list[tuple[int, list, str]]:
    """The preview's rows, each with why it may be a duplicate ("" if not)."""
    flags = imports.preview_duplicates(lead_import, preview) if preview else {}
    return [(line, cells, flags.get(line, "")) for line, cells in preview]


def _start(request: HttpRequest, lead_import: LeadImport, form: MappingForm) -> bool:
    """Start the import from the posted mapping; False (errors on the form) if refused."""
    if not form.is_valid():
        return False
    try:
        imports.lead_import_start(
            lead_import=lead_import,
            by=request.user,
            mapping=form.mapping(),
            source=form.cleaned_data["source"],
            campaign=form.cleaned_data["campaign"],
            mode=form.cleaned_data["mode"],
            history_column=form.cleaned_data["history_column"],
            history_stages=form.stages(),
            history_date_column=form.cleaned_data["history_date_column"],
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return False
    return True


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@capability_required("import_leads")
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    lead_import = _get_import(pk)
    return render(request, "leads/import_detail.html#progress", _progress_context(lead_import))


@capability_required("import_leads")
@require_GET
def import_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    lead_import = _get_import(pk)
    name = imports.default_source(lead_import.original_filename)
    return csv_response(
        f"rejected-rows-{name}.csv", imports.rejection_report_rows(lead_import), bom=True
    )
