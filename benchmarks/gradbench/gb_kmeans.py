"""kmeans: the k-means cost sum_i min_k |p_i - c_k|^2, and J / H for its gradient J and the
diagonal H of its Hessian (diagonal: each coordinate of a centroid meets only its own),
H by forward over reverse (the tangent of the gradient along ones)."""
import numpy as np
import srcad


def cost(points, centroids):
    dists = (np.sum(points ** 2, axis=1)[None, :] + np.sum(centroids ** 2, axis=1)[:, None]
             - 2.0 * (centroids @ points.T))
    return np.sum(np.min(dists, axis=0))


grad_ = srcad.grad(cost, wrt=1)


# the tangent of the gradient along the centroids only (the points carry none)
hess_diag_ = srcad.derivative(grad_, mode="forward", wrt=1)


def direction(points, centroids):
    J, H = hess_diag_(points, centroids, np.ones_like(centroids))
    return J / H


def define():
    p, c = np.arange(6.0).reshape(3, 2), np.ones((2, 2))
    direction(p, c)


def prepare(input):
    return (np.asarray(input["points"], dtype=np.float64),
            np.asarray(input["centroids"], dtype=np.float64))


FUNCTIONS = {
    "cost": (prepare, lambda a: cost(*a), float),
    "dir": (prepare, lambda a: direction(*a), lambda g: g.tolist()),
}
