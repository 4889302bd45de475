"""Catalogue pages under /manager/catalogue (managers only), and the product photos."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from inventory.db import utcnow
from inventory.errors import DomainError
from shop.auth import current_user, require_role
from shop.catalogue import services
from shop.catalogue.rules import MAX_IMAGE_BYTES, SKU, image_kind
from shop.i18n import translate
from shop.models import Role
from shop.refusals import Refused
from shop.runtime import read, run

bp = Blueprint("catalogue", __name__, url_prefix="/manager/catalogue")
images = Blueprint("catalogue_images", __name__)
IMAGE_DIR = "product_images"


def image_dir() -> Path:
    return Path(current_app.instance_path) / IMAGE_DIR


def save_image(sku: str, upload: FileStorage) -> str:
    """Store the photo under the instance folder as <SKU>.<type>; the type comes from the
    file's first bytes, the name from the SKU, so nothing the browser sent names a path."""
    data = upload.read(MAX_IMAGE_BYTES + 1)
    kind = image_kind(data[:16])
    if kind is None or len(data) > MAX_IMAGE_BYTES or not SKU.match(sku):
        raise Refused("cat.err.image", code="bad_image")
    folder = image_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{sku}.{kind}"
    for old in folder.glob(f"{sku}.*"):
        old.unlink()
    (folder / name).write_bytes(data)
    return name


def _uid() -> int:
    user = current_user()
    if user is None:  # pragma: no cover - require_role ran first
        abort(401)
    return user.id


def _fen(text: str) -> int:
    try:
        value = Decimal((text or "").strip()) * 100
    except InvalidOperation as exc:
        raise Refused("cat.err.number", code="bad_number") from exc
    if not value.is_finite() or value != value.to_integral_value() or abs(value) > 10**9:
        raise Refused("cat.err.number", code="bad_number")
    return int(value)


def _int(text: str) -> int:
    text = (text or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise Refused("cat.err.number", code="bad_number")
    return int(text)


def _form_fields() -> dict[str, Any]:
    f = request.form
    return {
        "name_zh": f.get("name_zh", "")[:120],
        "name_en": f.get("name_en", "")[:120],
        "description_zh": f.get("description_zh", "")[:2000],
        "description_en": f.get("description_en", "")[:2000],
        "price_fen": _fen(f.get("price", "")),
        "pack_size_g": _int(f.get("pack_size_g", "")),
        "freshness_days": _int(f.get("freshness_days", "")),
        "best_before_days": _int(f.get("best_before_days", "")),
        "gift_box": f.get("gift_box") == "1",
        "contents_zh": f.get("contents_zh", "")[:300],
        "contents_en": f.get("contents_en", "")[:300],
        "channels": f.getlist("channels"),
        "active": f.get("active") == "1",
    }


@bp.get("/")
@require_role(Role.MANAGER)
def products() -> ResponseReturnValue:
    return render_template("catalogue/list.html", products=read(services.list_products))


@bp.post("/")
@require_role(Role.MANAGER)
def create() -> ResponseReturnValue:
    try:
        product = run(
            services.create_product,
            sku=request.form.get("sku", "")[:40],
            user_id=_uid(),
            now=utcnow(),
            **_form_fields(),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("catalogue.products"))
    flash(translate("cat.done.created", sku=product.sku), "ok")
    return redirect(url_for("catalogue.product", sku=product.sku))


@bp.get("/<sku>")
@require_role(Role.MANAGER)
def product(sku: str) -> ResponseReturnValue:
    return render_template(
        "catalogue/product.html",
        p=read(services.get_product, sku[:40]),
        history=read(services.price_history, sku[:40]),
        dist_prices=read(services.distributor_prices, sku[:40]),
    )


@bp.post("/<sku>")
@require_role(Role.MANAGER)
def save(sku: str) -> ResponseReturnValue:
    try:
        run(services.update_product, sku[:40], _form_fields(), user_id=_uid(), now=utcnow())
        flash(translate("cat.done.saved", sku=sku), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("catalogue.product", sku=sku))


@bp.post("/<sku>/image")
@require_role(Role.MANAGER)
def upload(sku: str) -> ResponseReturnValue:
    try:
        read(services.get_product, sku[:40])  # 404 for an unknown product, before writing
        file = request.files.get("image")
        if file is None:
            raise Refused("cat.err.image", code="bad_image")
        run(services.set_image, sku, save_image(sku, file))
        flash(translate("cat.done.saved", sku=sku), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("catalogue.product", sku=sku))


@bp.post("/<sku>/prices")
@require_role(Role.MANAGER)
def prices(sku: str) -> ResponseReturnValue:
    """Case pack and every distributor's case price for this product, in one form."""
    try:
        if request.form.get("case_pieces", "").strip():
            run(services.set_case_pack, sku[:40], _int(request.form["case_pieces"]))
        for key, value in request.form.items():
            if key.startswith("dist_") and key[5:].isdigit() and value.strip():
                run(
                    services.set_distributor_price,
                    int(key[5:]),
                    sku[:40],
                    _fen(value),
                    user_id=_uid(),
                    now=utcnow(),
                )
        flash(translate("cat.done.saved", sku=sku), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("catalogue.product", sku=sku))


@images.get("/catalogue/images/<sku>")
def image(sku: str) -> ResponseReturnValue:
    """The product photo, for the storefront and the console."""
    name = read(services.image_of, sku[:40])
    if not name:
        abort(404)
    return send_from_directory(image_dir(), name, max_age=3600)
