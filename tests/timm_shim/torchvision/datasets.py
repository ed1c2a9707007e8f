"""torchvision.datasets stand-in: the names timm's dataset factory imports."""

from torchvision._unavailable import unavailable

CIFAR10 = unavailable("CIFAR10")
CIFAR100 = unavailable("CIFAR100")
MNIST = unavailable("MNIST")
KMNIST = unavailable("KMNIST")
FashionMNIST = unavailable("FashionMNIST")
ImageFolder = unavailable("ImageFolder")
