/** @odoo-module **/
/**
 * The invoice's Email history (widget="courier_history"): Odoo's one2many
 * list, whose dialog is titled after the email it shows ("Email sent to
 * anna@customer.example") instead of Odoo's "Open: Email recipients".
 */
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { X2ManyField, x2ManyField } from "@web/views/fields/x2many/x2many_field";

// Not sent yet, or its send says something else: the dialog says "Email to".
const NOT_SENT = ["queued", "failed", "cancelled", "test_sent"];

export class CourierHistoryField extends X2ManyField {
    setup() {
        super.setup();
        const open = this._openRecord;
        this._openRecord = (params) => open({ ...params, title: this.courierTitle(params) });
    }

    courierTitle({ record, title }) {
        const email = record?.data?.email;
        if (!email) {
            return title;
        }
        return NOT_SENT.includes(record.data.history_status)
            ? _t("Email to %s", email)
            : _t("Email sent to %s", email);
    }
}

registry.category("fields").add("courier_history", {
    ...x2ManyField,
    component: CourierHistoryField,
});
