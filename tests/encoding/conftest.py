import pytest
import torch

DEVICES = [torch.device("cpu")]
if torch.cuda.is_available():
    DEVICES.append(torch.device("cuda"))


@pytest.fixture(params=DEVICES, ids=lambda d: d.type)
def device(request: pytest.FixtureRequest) -> torch.device:
    return request.param
