"""MkDocs hook: the generated SUMMARY.md is the navigation (read by literate-nav), not a page of the site."""
from mkdocs.plugins import event_priority
from mkdocs.structure.files import InclusionLevel


@event_priority(-200)  # after literate-nav (-100) has read the file
def on_files(files, config):
    summary = files.get_file_from_path("SUMMARY.md")
    if summary is not None:
        summary.inclusion = InclusionLevel.EXCLUDED
    return files
