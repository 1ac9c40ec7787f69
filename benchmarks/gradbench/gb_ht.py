"""ht: the Jacobian of hand-tracking residuals (points minus the skinned hand model's
vertices) with respect to the 26 pose parameters, and in the "complicated" variant also
to each point's two barycentric coordinates `us`. The model is written over all bones
and vertices at once; the pose Jacobian by forward mode (jacfwd: the 26 directions in one
batched pass), the `us` part by one batched jvp of two directions (1 in column k of every
point's `us`), since each residual depends only on its own point's `us`."""
import numpy as np

import srcad


def pose_scatter(nbones):
    """P, base with reshape(P @ theta + base, (nbones + 3, 3)) the pose parameters the
    26 numbers theta describe (global rotation, scale 1, translation, then per finger
    two angles of its first joint and one of each of the other two)."""
    P = np.zeros((3 * (nbones + 3), 26))
    for j in range(3):
        P[j, j] = 1.0
        P[6 + j, 3 + j] = 1.0
    base = np.zeros(3 * (nbones + 3))
    base[3:6] = 1.0
    it, row = 6, 5
    for _ in range(5):
        for i in range(3):
            P[3 * row, it] = 1.0
            it += 1
            if i == 0:
                P[3 * row + 1, it] = 1.0
                it += 1
            row += 1
        row += 1
    return P, base


def rotations(angles):
    """Rz @ Ry @ Rx for each row (x, z, y angles) of `angles`, shape (n, 3, 3)."""
    n = angles.shape[0]
    one, zero = np.ones(n), np.zeros(n)
    cx, sx = np.cos(angles[:, 0]), np.sin(angles[:, 0])
    cy, sy = np.cos(angles[:, 2]), np.sin(angles[:, 2])
    cz, sz = np.cos(angles[:, 1]), np.sin(angles[:, 1])
    Rx = np.reshape(np.stack((one, zero, zero, zero, cx, -sx, zero, sx, cx), axis=1), (n, 3, 3))
    Ry = np.reshape(np.stack((cy, zero, -sy, zero, one, zero, sy, zero, cy), axis=1), (n, 3, 3))
    Rz = np.reshape(np.stack((cz, -sz, zero, sz, cz, zero, zero, zero, one), axis=1), (n, 3, 3))
    return Rz @ Ry @ Rx


def angle_axis_to_rotation_matrix(aa):
    n = np.sqrt(np.sum(aa ** 2))
    if n < 0.0001:
        return np.eye(3)
    x, y, z = aa[0] / n, aa[1] / n, aa[2] / n
    s, c = np.sin(n), np.cos(n)
    return np.array([[x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                     [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
                     [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c]])


def skinned_vertices(theta, P, base, parents, base_relatives, inverse_base_absolutes,
                     base_positions, weights):
    nb = base_relatives.shape[0]
    pose = np.reshape(P @ theta + base, (nb + 3, 3))
    R = rotations(pose[3:])
    top = np.concatenate((R, np.zeros((nb, 3, 1))), axis=2)
    bottom = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), (nb, 1, 4))
    relatives = base_relatives @ np.concatenate((top, bottom), axis=1)
    absolutes = []
    for i in range(nb):
        if parents[i] == -1:
            absolutes.append(relatives[i])
        else:
            absolutes.append(absolutes[parents[i]] @ relatives[i])
    transforms = np.stack(absolutes) @ inverse_base_absolutes
    moved = transforms @ base_positions.T                            # (bone, 4, vertex)
    positions = np.transpose(np.sum(moved * weights.T[:, None, :], axis=0))[:, :3]
    G = angle_axis_to_rotation_matrix(pose[0]) * pose[1]
    return positions @ G.T + pose[2]


def residuals(theta, P, base, parents, base_relatives, inverse_base_absolutes, base_positions,
              weights, points, correspondences):
    V = skinned_vertices(theta, P, base, parents, base_relatives, inverse_base_absolutes,
                         base_positions, weights)
    return points - V[correspondences]


def residuals_complicated(us, theta, P, base, parents, base_relatives, inverse_base_absolutes,
                          base_positions, weights, points, tri):
    V = skinned_vertices(theta, P, base, parents, base_relatives, inverse_base_absolutes,
                         base_positions, weights)
    hand = (us[:, 0:1] * V[tri[:, 0]] + us[:, 1:2] * V[tri[:, 1]]
            + (1.0 - us[:, 0:1] - us[:, 1:2]) * V[tri[:, 2]])
    return points - hand


jac_theta = srcad.jacfwd(residuals)
jac_theta_c = srcad.jacfwd(residuals_complicated, wrt=1)


def objective(args):
    if args[0] is None:
        return residuals(*args[1:]).ravel()
    return residuals_complicated(*args).ravel()


def jacobian(args):
    if args[0] is None:
        J = jac_theta(*args[1:])
        return np.reshape(J, (-1, J.shape[-1]))
    us, theta, model = args[0], args[1], args[2:]
    theta_J = jac_theta_c(us, theta, *model)
    e = np.zeros((2,) + us.shape)
    e[0, :, 0] = e[1, :, 1] = 1.0
    us_J = np.moveaxis(us_tangent(us, theta, model, e), 0, -1)        # (point, 3, 2)
    return np.concatenate((np.reshape(us_J, (-1, 2)),
                           np.reshape(theta_J, (-1, theta_J.shape[-1]))), axis=1)


def us_tangent(us, theta, model, e):
    """The residuals' tangents along the directions `e` (a batch) in the barycentric
    coordinates alone."""
    P, base, parents, br, iba, bp, w, points, tri = model

    def r(u):
        return residuals_complicated(u, theta, P, base, parents, br, iba, bp, w, points, tri)
    return srcad.jvp(r, (us,), (e,), batched=True)[1]


def prepare(input):
    from gradbench.adbench.ht_data import HandInput
    h = HandInput.from_dict(input)
    m = h.data.model
    P, base = pose_scatter(m.bone_count)
    model = (P, base, np.asarray(m.parents, dtype=np.int64), m.base_relatives,
             m.inverse_base_absolutes, m.base_positions, m.weights, h.data.points)
    corr = np.asarray(h.data.correspondences, dtype=np.int64)
    if len(h.us) > 0:
        return (np.asarray(h.us).reshape(-1, 2), np.asarray(h.theta)) + model + \
            (np.asarray(m.triangles, dtype=np.int64)[corr],)
    return (None, np.asarray(h.theta)) + model + (corr,)


def define():
    """Build the derivatives on a tiny hand (22 bones in a chain, two vertices)."""
    nb, rng = 22, np.random.default_rng(0)
    P, base = pose_scatter(nb)
    eye = np.broadcast_to(np.eye(4), (nb, 4, 4)).copy()
    model = (P, base, np.arange(-1, nb - 1), eye, eye, np.ones((2, 4)), np.full((2, nb), 0.5),
             np.ones((2, 3)))
    theta = rng.normal(size=26)
    jacobian((None, theta) + model + (np.array([0, 1]),))
    jacobian((np.full((2, 2), 0.3), theta) + model + (np.array([[0, 1, 0], [1, 0, 1]]),))


FUNCTIONS = {
    "objective": (prepare, objective, lambda r: r.tolist()),
    "jacobian": (prepare, jacobian, lambda J: J.tolist()),
}
