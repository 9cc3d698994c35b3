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


def test_bucketed_batches_cover_every_sample_once_with_similar_lengths():
    import random

    from zoo.engine.sampler import BucketBatchSampler

    lengths = [random.Random(i).randint(1, 1000) for i in range(500)]
    sampler = BucketBatchSampler(lengths, batch_size=10, seed=3)  # one pool of 50 batches
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert len(batches) == len(sampler) == 50
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 100  # random batches of 10 would spread over ~800 of the 1..1000 range
    assert batches == list(BucketBatchSampler(lengths, 10, seed=3))  # a function of (seed, epoch)
    sampler.set_position(1)
    assert list(sampler) != batches


def test_bucketed_batches_resume_mid_epoch_and_split_across_ranks():
    from zoo.engine.sampler import BucketBatchSampler

    lengths = list(range(103))
    whole = list(BucketBatchSampler(lengths, 8, seed=0))
    resumed = BucketBatchSampler(lengths, 8, seed=0)
    resumed.set_position(0, start=3 * 8)  # three batches already trained
    assert list(resumed) == whole[3:] and len(resumed) == len(whole) - 3
    ranks = [list(BucketBatchSampler(lengths, 8, seed=0, rank=r, world=3)) for r in range(3)]
    assert [len(r) for r in ranks] == [5, 5, 5]  # 13 batches padded to 15
    assert {i for r in ranks for b in r for i in b} == set(range(103))
    dropped = list(BucketBatchSampler(lengths, 8, seed=0, drop_last=True))
    assert all(len(b) == 8 for b in dropped) and len(dropped) == 12


def test_evaluation_batches_are_sorted_by_length():
    from zoo.engine.sampler import sorted_batches

    assert sorted_batches([5, 1, 4, 2, 3], [0, 1, 2, 3, 4], 2) == [[1, 3], [4, 2], [0]]
    assert sorted_batches([5, 1, 4, 2, 3], [0, 2, 4], 2) == [[4, 2], [0]]


def test_a_streamed_order_covers_each_row_once_reading_few_row_groups_at_a_time():
    from zoo.engine.sampler import StreamSampler

    groups = [10, 7, 10, 3, 10, 10, 9, 10]  # row groups of uneven sizes, as parquet files have
    starts = [sum(groups[:g]) for g in range(len(groups))]

    def group_of(row: int) -> int:
        return max(g for g, start in enumerate(starts) if start <= row)

    sampler = StreamSampler(groups, seed=5, buffer=2)
    order = list(sampler)
    assert sorted(order) == list(range(sum(groups)))
    # at any point, at most 2 row groups are being read (begun, not finished): a buffer of 2, not all 8
    first = {g: min(i for i, r in enumerate(order) if group_of(r) == g) for g in range(len(groups))}
    last = {g: max(i for i, r in enumerate(order) if group_of(r) == g) for g in range(len(groups))}
    assert max(sum(first[g] <= i <= last[g] for g in first) for i in range(len(order))) == 2
    assert order == list(StreamSampler(groups, seed=5, buffer=2))  # a function of (seed, epoch)
    sampler.set_position(1)
    assert list(sampler) != order and sorted(sampler) == sorted(order)
    sampler.set_position(0, start=25)  # resume: what was seen is skipped, the rest replays
    assert list(sampler) == order[25:]


def test_a_streamed_order_gives_each_rank_a_contiguous_share_padded_as_distributed_sampler_does():
    from zoo.engine.sampler import StreamSampler

    groups = [5] * 9 + [4]  # 49 rows
    whole = list(StreamSampler(groups, seed=1))
    ranks = [list(StreamSampler(groups, seed=1, rank=r, world=2)) for r in range(2)]
    assert [len(r) for r in ranks] == [25, 25]  # one padding row
    assert ranks[0] + ranks[1] == whole + whole[:1]  # contiguous blocks: each rank reads its own row groups
    dropped = [list(StreamSampler(groups, seed=1, rank=r, world=2, drop_last=True)) for r in range(2)]
    assert [len(r) for r in dropped] == [24, 24] and len(set(dropped[0] + dropped[1])) == 48
