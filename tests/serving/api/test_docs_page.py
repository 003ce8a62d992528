"""The API's Swagger page is likecast's own, and every file it loads is served: Swagger UI
from BentoML's server at ``/static_content/``, the document at ``/docs.json``."""

from __future__ import annotations

import re

import pytest

from tests.helpers import InProcess


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_every_file_the_api_page_loads_is_served(service: InProcess, path: str) -> None:
    # given the page at the root or at /docs
    with service.client() as http:
        page = http.get(path)
        assert page.status_code == 200
        links = re.findall(r'(?:href|src)="([^"]+)"', page.text)
        # when each file it links is fetched, and the document Swagger UI's start-up reads
        assert links, "the page links Swagger UI's files"
        fetched = {link: http.get(link) for link in links}
        initializer = next(r for link, r in fetched.items() if link.endswith("initializer.js"))
        document = re.search(r'url:\s*"\./([^"]+)"', initializer.text)
        assert document is not None, "Swagger UI's start-up names the document it reads"
        spec = http.get(f"/{document.group(1)}")
    # then every one is there: a BentoML that moves them fails here, not in a browser
    assert {link: r.status_code for link, r in fetched.items()} == dict.fromkeys(links, 200)
    assert all(r.content for r in fetched.values())
    assert spec.status_code == 200
    assert spec.json()["info"]["title"]
