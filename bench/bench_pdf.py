"""Executed-agreement PDFs: end-to-end render + seal of the demo agreement against bare
WeasyPrint on the same HTML, in the same run.

- ours: ``documents.render_run`` on a fresh job (load the agreement, consolidate, fill the
  template, lay out with the static-only fetcher, seal with pyHanko, store under the hash);
- baseline: ``weasyprint.HTML(string=same_html).write_pdf()`` with WeasyPrint's defaults;
- pages per second of both; the seal alone;
- peak resident memory of a process that renders and seals once, against one that only runs
  bare WeasyPrint (VmHWM of a fresh subprocess each);
- peer figure: Chromium's ``--print-to-pdf`` of the same HTML (including browser start-up,
  which is what a render through Chromium would cost per document).

Runs interleave ours and the baseline so machine load hits both alike.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from weasyprint import HTML

from bench.harness import SMOKE, Result, scaled

ROOT = Path(__file__).resolve().parent.parent
REPEAT = scaled(5, 1)
CHROMIUM_REPEAT = scaled(3, 1)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ACTIVE = "Productive Struggle Classroom Study"
# Every WeasyPrint layout of the agreement's HTML costs seconds (its fonts are subset each
# time); in smoke mode all but render_run's lay out this instead.
SMOKE_HTML = (
    "<!doctype html><html><head><title>Smoke</title></head><body><p>Smoke.</p></body></html>"
)

# VmHWM (peak RSS of this process image) rather than ru_maxrss, which Linux carries over
# from the forking parent across exec.
_MEMORY_PROBE = """
import json, re, sys
from pathlib import Path
def peak_mib():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024
import django
django.setup()
from weasyprint import HTML
from agreements.documents import pdf
from agreements.documents import sealing
html = Path(sys.argv[1]).read_text()
before = peak_mib()
if sys.argv[2] == "ours":
    sealing.seal(pdf.render_html(html).pdf, reason="bench")
else:
    HTML(string=html, base_url=pdf.base_url()).write_pdf()
print(json.dumps({"before": before, "peak": peak_mib()}))
"""


def _peak_memory(html_file: Path, which: str) -> tuple[float, float]:
    """(peak RSS, peak RSS before rendering) in MiB of a fresh process rendering once."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(html_file), which],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    return figures["peak"], figures["before"]


def _chromium_seconds(html: str, folder: Path) -> float | None:
    if not Path(CHROMIUM).exists():
        return None
    page = folder / "agreement.html"
    # Same HTML; fonts resolve against static/ as they do for WeasyPrint.
    base = f'<base href="{(ROOT / "static").as_uri()}/">'
    page.write_text(html.replace("<head>", "<head>" + base, 1))
    samples = []
    for _ in range(CHROMIUM_REPEAT):
        target = folder / "chromium.pdf"
        target.unlink(missing_ok=True)
        start = time.perf_counter()
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                page.as_uri(),
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        samples.append(time.perf_counter() - start)
        assert target.stat().st_size > 0
    return statistics.median(samples)


def run() -> list[Result]:
    from agreements.demo import seed_agreements
    from agreements.documents import jobs as documents
    from agreements.documents import pdf, sealing
    from agreements.models import Agreement, Document, DocumentKind, RenderJob
    from agreements.selectors import consolidated_text, with_agreement_detail
    from partners.demo import seed_partners

    folder = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    sealing_env = {
        "SEALING_CERT_FILE": str(folder / "cert.pem"),
        "SEALING_KEY_FILE": str(folder / "key.pem"),
        "SEALING_KEY_PASSWORD": "",
        "MEDIA_ROOT": str(folder / "media"),
    }
    sealing.generate_dev_certificate(cert_file=folder / "cert.pem", key_file=folder / "key.pem")
    os.environ.update(sealing_env)  # for the memory probes
    try:
        with override_settings(**sealing_env, RENDER_ON_ACTIVATION=False):
            seed_agreements(seed_partners())
            agreement = Agreement.objects.get(title=ACTIVE)
            loaded = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
            html = pdf.html_for(
                loaded,
                consolidated_text(loaded),
                DocumentKind.EXECUTED,
                generated_at=timezone.now(),
            )
            if SMOKE:  # render_run still lays out the whole agreement once; the rest, a stub
                html = SMOKE_HTML
            base = pdf.base_url()

            def ours() -> tuple[float, int]:
                # PostgreSQL refuses to delete a sealed document, and render_run reuses the
                # one it finds: each render runs in a transaction that is rolled back, so the
                # next one renders afresh (the stored file is deleted by hand).
                with transaction.atomic():
                    job = RenderJob.objects.create(
                        agreement=agreement,
                        kind=DocumentKind.EXECUTED,
                        text_hash=agreement.text_hash,
                    )
                    start = time.perf_counter()
                    outcome = documents.render_run(job_id=job.pk)
                    elapsed = time.perf_counter() - start
                    assert outcome == "done", RenderJob.objects.get(pk=job.pk).error
                    document = RenderJob.objects.get(pk=job.pk).document
                    transaction.set_rollback(True)
                assert not Document.objects.filter(agreement=agreement).exists()
                default_storage.delete(document.file.name)
                return elapsed, document.pages

            def bare() -> float:
                start = time.perf_counter()
                HTML(string=html, base_url=base).write_pdf()
                return time.perf_counter() - start

            if not SMOKE:
                ours(), bare()  # warm-up: imports, fonts, caches
            ours_samples, bare_samples, pages = [], [], 0
            for _ in range(REPEAT):
                elapsed, pages = ours()
                ours_samples.append(elapsed)
                bare_samples.append(bare())
            unsealed = pdf.render_html(html).pdf
            seal_samples = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                sealing.seal(unsealed, reason="bench")
                seal_samples.append(time.perf_counter() - start)

            html_file = folder / "agreement.html"
            html_file.write_text(html)
            memory_ours = _peak_memory(html_file, "ours")
            memory_bare = _peak_memory(html_file, "bare")
            chromium = _chromium_seconds(html, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for name in sealing_env:
            os.environ.pop(name, None)

    t_ours = statistics.median(ours_samples)
    t_bare = statistics.median(bare_samples)
    limit = settings.RENDER_MEMORY_LIMIT_MB
    return [
        Result(
            f"render+seal demo executed PDF ({pages} pages), end to end",
            t_ours,
            t_bare,
            "s",
            "≤ 1.3x bare WeasyPrint on the same HTML",
        ),
        Result(
            "  of which the pyHanko PAdES seal",
            statistics.median(seal_samples) * 1000,
            None,
            "ms",
            "—",
        ),
        Result(
            "pages per second (ours vs bare WeasyPrint)",
            pages / t_ours,
            pages / t_bare,
            "pages/s",
            "≥ 0.77x bare",
        ),
        Result(
            "peak RSS of a render+seal process (vs bare WeasyPrint)",
            memory_ours[0],
            memory_bare[0],
            "MiB",
            f"< {limit} MiB (RENDER_MEMORY_LIMIT_MB)",
        ),
        Result(
            "  of which growth during the render",
            memory_ours[0] - memory_ours[1],
            memory_bare[0] - memory_bare[1],
            "MiB",
            "—",
        ),
        Result(
            "Chromium --print-to-pdf, same HTML, per document (peer)",
            chromium if chromium is not None else float("nan"),
            t_ours,
            "s",
            "peer figure; baseline = ours",
        ),
    ]
