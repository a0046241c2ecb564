"""The course guide's sessions (tools/course.py): every chapter is taught in exactly one
session, the guide's budget table is what the tool computes, and every session leaves
time for its lab and assessment. No model."""

import yaml

from tools import chapter_stats, course


def test_every_chapter_is_in_exactly_one_session():
    toc = yaml.safe_load((chapter_stats.ROOT / "_toc.yml").read_text())
    chapters = [e["file"].rsplit("/", 1)[-1] for part in toc["parts"]
                for e in part["chapters"] if e["file"].startswith("book/chapters/")]
    taught = [name for _, names in course.SESSIONS for name in names]
    assert len(taught) == len(set(taught))
    # every chapter but the appendix on the reader's own model is in a session
    assert set(chapters) - set(taught) == {"your_own_model"}
    assert set(taught) <= set(chapters)


def test_the_guides_table_is_current():
    text = course.GUIDE.read_text()
    block = course.MARKERS.search(text)
    assert block, "course_guide.md lost its sessions markers"
    assert block.group(2) == course.table(course.budget()), (
        "the course guide's table is stale: run `python -m tools.course --write`")


def test_every_session_leaves_time_for_lab_and_assessment():
    late = [r["title"] for r in course.budget() if not r["fits"]]
    assert not late, f"sessions over {course.SESSION_MINUTES} minutes: {late}"
