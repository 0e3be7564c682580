"""The training loops' shared parts: the generator's weight average and the time budget."""

import time

import pytest
import torch
from torch import nn

from syngen.training import WeightAverage, over_budget


def test_weight_average_follows_the_weights_with_its_decay():
    net = nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.zero_()
    average = WeightAverage(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(1.0)
    average.update(net)
    # The first update warms up: decay min(0.9, 2/11), so the average moves most of the way.
    assert torch.allclose(average.average[0], torch.full((2, 3), 9 / 11))
    for _ in range(200):
        average.update(net)
    average.copy_to(net)
    assert torch.allclose(net.weight, torch.ones(2, 3), atol=1e-6)


def test_weight_average_is_the_mean_of_an_oscillation_not_its_last_point():
    net = nn.Linear(1, 1, bias=False)
    average = WeightAverage(net, decay=0.99)
    for step in range(2000):
        with torch.no_grad():
            net.weight.fill_(1.0 if step % 2 else -1.0)
        average.update(net)
    average.copy_to(net)
    assert abs(net.weight.item()) < 0.05


def test_weight_average_rejects_a_decay_outside_zero_one():
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(nn.Linear(1, 1), decay=1.0)


def test_budget_stops_before_an_epoch_would_overrun_it():
    now = time.perf_counter()
    assert not over_budget(now, now, None)
    # 6 s spent, the last epoch took 3 s: another one ends at 9 s.
    assert not over_budget(now - 6, now - 3, 10.0)
    assert over_budget(now - 6, now - 3, 8.0)
