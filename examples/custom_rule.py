"""Teaching srcad the derivative of a function it cannot read.

srcad differentiates Python source. math.erf is implemented in C, so there is
no source to transform: we supply its derivative ourselves,

    d/dx erf(x) = 2 / sqrt(pi) * exp(-x**2),

as a forward rule (jvp) and a reverse rule (vjp). Code that calls `erf` can
then be differentiated as usual.

    python examples/custom_rule.py
"""
import math

import numpy as np

import srcad


def _derf(x):
    return 2.0 / np.sqrt(np.pi) * np.exp(-x**2)


# NOTE: the name and signature of this decorator are not final and may change
# (compare jax.custom_jvp / custom_vjp). The rules receive the primal inputs
# and, for the vjp, the primal output and the output cotangent.
@srcad.custom_rule(
    jvp=lambda x, x_dot: x_dot * _derf(x),
    vjp=lambda x, out, out_bar: out_bar * _derf(x),
)
def erf(x):
    return math.erf(x)


def normal_cdf(x, mu, sigma):
    # P(X <= x) for X ~ Normal(mu, sigma**2), written with our erf.
    return 0.5 * (1.0 + erf((x - mu) / (sigma * math.sqrt(2.0))))


def main():
    x, mu, sigma = 1.3, 0.5, 2.0
    d_mu, d_sigma = srcad.grad(normal_cdf, wrt=("mu", "sigma"))(x, mu, sigma)

    # Closed form: with z = (x - mu) / sigma and pdf(z) = exp(-z**2 / 2) / sqrt(2 pi),
    # dP/dmu = -pdf(z) / sigma and dP/dsigma = -z pdf(z) / sigma.
    z = (x - mu) / sigma
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    print(f"P(X <= {x}) = {normal_cdf(x, mu, sigma):.6f}")
    print(f"dP/dmu    = {d_mu:.8f}   closed form {-pdf / sigma:.8f}")
    print(f"dP/dsigma = {d_sigma:.8f}   closed form {-z * pdf / sigma:.8f}")
    assert math.isclose(d_mu, -pdf / sigma, rel_tol=1e-10)
    assert math.isclose(d_sigma, -z * pdf / sigma, rel_tol=1e-10)

    # Forward mode must use the jvp rule: the derivative in x is the density.
    d_x = srcad.jacfwd(normal_cdf)(x, mu, sigma)
    print(f"dP/dx     = {float(d_x):.8f}   closed form {pdf / sigma:.8f}")
    assert math.isclose(float(d_x), pdf / sigma, rel_tol=1e-10)


if __name__ == "__main__":
    main()
