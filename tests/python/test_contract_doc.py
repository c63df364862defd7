from tinytracker.loading import contract_doc


def test_committed_landing_contract_doc_matches_the_contract():
    committed = contract_doc.DOC_PATH.read_text(encoding="utf-8")
    assert committed == contract_doc.render(), (
        "docs/landing-contract.md is stale: run `python -m tinytracker.loading.contract_doc`"
    )
