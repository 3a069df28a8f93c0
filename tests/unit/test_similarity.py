from supervise.findings.similarity import bigrams, similarity


def test_chinese_titles_compare_by_character_pairs():
    assert similarity("违规发放津补贴", "区教育局违规发放津补贴问题") > 0.6
    assert similarity("预算执行不严格", "政府采购不规范") < 0.2


def test_punctuation_and_spaces_do_not_count():
    assert bigrams("“三公” 经费") == bigrams("三公经费")


def test_empty_titles_are_not_similar():
    assert similarity("", "违规发放") == 0
