"""junit.xml: one testcase per control, so any CI test view shows the control verdicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.common import AREA_TITLES, effective_status, xml_text
from harness.results import Results
from harness.verdicts import Verdict

_SKIPPED = {
    Verdict.NOT_EVALUATED,
    Verdict.NOT_APPLICABLE,
    Verdict.PLANNED,
    Verdict.WAIVED,
}


def render(results: Results) -> bytes:
    root = ET.Element("testsuites", name="harness", time=f"{results.run.duration_s:.3f}")
    suites: dict[str, ET.Element] = {}
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for control in results.controls:
        suite = suites.get(control.area)
        if suite is None:
            title = AREA_TITLES.get(control.area, control.area)
            suite = ET.SubElement(root, "testsuite", name=title)
            suite.attrib.update(tests="0", failures="0", errors="0", skipped="0", time="0")
            suites[control.area] = suite
        status = effective_status(results, control)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"harness.{control.area}",
            name=xml_text(f"{control.id} {control.title}"),
            time=f"{control.duration_s:.3f}",
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="severity", value=control.severity)
        ET.SubElement(props, "property", name="status", value=status.value)
        for test in control.tests:
            ET.SubElement(props, "property", name="test", value=xml_text(test.nodeid))
        reason = xml_text(control.reason or status.value)
        key = None
        if status == Verdict.FAIL:
            ET.SubElement(case, "failure", message=reason[:500], type="fail").text = reason
            key = "failures"
        elif status == Verdict.ERROR:
            ET.SubElement(case, "error", message=reason[:500], type="error").text = reason
            key = "errors"
        elif status in _SKIPPED:
            message = xml_text(f"{status.value}: {control.reason or ''}")
            ET.SubElement(case, "skipped", message=message)
            key = "skipped"
        for counter in ("tests", key):
            if counter:
                suite.set(counter, str(int(suite.get(counter, "0")) + 1))
                totals[counter] += 1
        suite.set("time", f"{float(suite.get('time', '0')) + control.duration_s:.3f}")
    root.attrib.update({k: str(v) for k, v in totals.items()})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write(results: Results, path: Path) -> Path:
    path.write_bytes(render(results))
    return path
