"""agreements.text.document.memo.IdentityMemo: a result per input object, never per equal
object, bounded."""

from agreements.text.document.memo import IdentityMemo
from agreements.text.document.model import Paragraph, Text


def test_a_result_is_kept_for_the_same_object_and_not_for_an_equal_one():
    memo: IdentityMemo[Paragraph, str] = IdentityMemo(8)
    calls: list[Paragraph] = []

    def compute(block: Paragraph) -> str:
        calls.append(block)
        return f"result {len(calls)}"

    block = Paragraph((Text("Student Data stays in the United States."),))
    twin = Paragraph((Text("Student Data stays in the United States."),))
    assert twin == block and twin is not block
    assert memo.get(block, compute) == "result 1"
    assert memo.get(block, compute) == "result 1"
    assert memo.get(twin, compute) == "result 2"  # equal, yet its own entry
    assert calls == [block, twin]


def test_past_its_limit_it_starts_again_and_stays_correct():
    memo: IdentityMemo[tuple[int, ...], int] = IdentityMemo(3)
    keys = [tuple(range(n)) for n in range(10)]  # kept alive: ids are not reused
    for key in keys:
        assert memo.get(key, len) == len(key)
    assert len(memo._entries) <= 3
    assert [memo.get(key, len) for key in keys] == list(range(10))
