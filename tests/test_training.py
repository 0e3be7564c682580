"""The training loops' shared parts: the weight average, the optimizer and the time budget."""

import pytest
import torch
from torch import nn

from syngen.training import FusedAdam, WeightAverage, over_budget


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
    assert not over_budget(100.0, 100.0, None, now=100.0)
    # 6 s spent, the last epoch took 3 s: another one ends at 9 s.
    assert not over_budget(100.0, 103.0, 10.0, now=106.0)
    assert over_budget(100.0, 103.0, 8.0, now=106.0)


def test_fused_adam_takes_the_steps_of_torch_adam():
    torch.manual_seed(0)
    ours, theirs = nn.Linear(5, 3), nn.Linear(5, 3)
    theirs.load_state_dict(ours.state_dict())
    start = ours.weight.detach().clone()
    opt = FusedAdam(ours.parameters(), 1e-2, (0.5, 0.9), weight_decay=1e-3)
    ref = torch.optim.Adam(theirs.parameters(), lr=1e-2, betas=(0.5, 0.9), weight_decay=1e-3)
    x = torch.randn(16, 5)
    for step in range(20):
        for net, o in ((ours, opt), (theirs, ref)):
            o.zero_grad()
            net(x).square().mean().backward()
            if step % 3 == 0:
                net.bias.grad = None  # a parameter without a gradient is left as it is
            o.step()
        assert torch.allclose(ours.weight, theirs.weight, atol=1e-6)
        assert torch.allclose(ours.bias, theirs.bias, atol=1e-6)
    assert (ours.weight - start).abs().min() > 1e-3
    opt.zero_grad()
    assert ours.weight.grad is None


def test_a_budgeted_fit_shows_its_budget_and_says_when_it_stopped_early(capsys):
    """A fake clock: each epoch takes 3 s of a 10 s budget, of 100 epochs asked for."""
    from syngen.training import EpochLoop

    now = [0.0]
    loop = EpochLoop(100, started=0.0, max_seconds=10, verbose=True, clock=lambda: now[0])
    for _ in loop:
        now[0] += 3.0
        loop.record(generator_loss=0.5)
    err = capsys.readouterr().err
    assert len(loop.history) == 3 and loop.stopped_early
    assert "budget 10 s, up to 100 epochs" in err
    assert "stopped after 3 of 100 epochs" in err and "budget of 10 s" in err
    # Without a budget the bar counts epochs, and a loop that runs out is not "stopped early".
    plain = EpochLoop(2, started=0.0, max_seconds=None, verbose=True, clock=lambda: now[0])
    for _ in plain:
        plain.record(generator_loss=0.5)
    assert not plain.stopped_early and "2/2" in capsys.readouterr().err
