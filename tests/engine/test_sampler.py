from zoo.engine.sampler import ResumableSampler


def test_order_is_a_function_of_seed_and_epoch():
    a, b = ResumableSampler(100, seed=1), ResumableSampler(100, seed=1)
    a.set_position(3)
    b.set_position(3)
    assert list(a) == list(b) and sorted(a) == list(range(100))
    b.set_position(4)
    assert list(a) != list(b)


def test_resuming_skips_what_was_seen():
    sampler = ResumableSampler(50, seed=0)
    sampler.set_position(2)
    full = list(sampler)
    sampler.set_position(2, start=20)
    assert list(sampler) == full[20:] and len(sampler) == 30


def test_ranks_split_evenly():
    ranks = [ResumableSampler(10, seed=0, rank=r, world=3) for r in range(3)]
    parts = [list(s) for s in ranks]
    assert [len(p) for p in parts] == [4, 4, 4]  # padded to 12, as DistributedSampler does
    assert set().union(*parts) == set(range(10))
    dropped = [list(ResumableSampler(10, seed=0, rank=r, world=3, drop_last=True)) for r in range(3)]
    assert [len(p) for p in dropped] == [3, 3, 3] and len(set().union(*dropped)) == 9
