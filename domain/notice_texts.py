"""What a notice says, in Chinese and in English: a headline (the mail's subject) and a sentence.

Written from the notice's kind and parameters alone (domain/notices.py), so the in-app list, the
mail and the gateway's message all say the same thing. Readers are civil servants and enterprise
staff: plain words, the project by name, the step and the department as the catalog names them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from domain.notices import NoticeKind

CHINESE, ENGLISH = "zh-CN", "en"
LANGUAGES = (CHINESE, ENGLISH)


class Wording(NamedTuple):
    """One language's headline and sentence templates of a kind."""

    headline: str
    sentence: str


# kind: (Chinese, English). Templates name parameters of `notice_params`; a missing one reads empty.
TEMPLATES: dict[NoticeKind, tuple[Wording, Wording]] = {
    "submitted": (
        Wording("待审查", "{step_zh}已提交，请{department_zh}审查。"),
        Wording("Awaiting review", "{step_en} was submitted and awaits review by {department_en}."),
    ),
    "resubmitted": (
        Wording("补正后待审查", "{step_zh}已补正并重新提交，请{department_zh}审查。"),
        Wording(
            "Resubmitted for review", "{step_en} was corrected and resubmitted; it awaits review by {department_en}."
        ),
    ),
    "inspection_opened": (
        Wording("待查验", "{step_zh}已开始，请{department_zh}查验。"),
        Wording("Awaiting inspection", "{step_en} has opened and awaits inspection by {department_en}."),
    ),
    "verification_due": (
        Wording("待核查承诺", "{step_zh}已按告知承诺制办结，请{department_zh}核查承诺内容。"),
        Wording(
            "Commitment to verify",
            "{step_en} was granted on a written commitment; {department_en} is to verify it.",
        ),
    ),
    "returned": (
        Wording("被退回补正", "{step_zh}被{department_zh}退回补正。理由：{comment}"),
        Wording(
            "Returned for correction", "{step_en} was returned for correction by {department_en}. Reason: {comment}"
        ),
    ),
    "inspection_failed": (
        Wording("查验未通过", "{step_zh}查验未通过，请整改后重新提交。意见：{comment}"),
        Wording("Inspection failed", "{step_en} did not pass; rectify and submit again. Remarks: {comment}"),
    ),
    "rejected": (
        Wording("不予许可", "{step_zh}被{department_zh}不予许可。理由：{comment}"),
        Wording("Rejected", "{step_en} was rejected by {department_en}. Reason: {comment}"),
    ),
    "revoked": (
        Wording(
            "承诺核查未通过",
            "{step_zh}的承诺核查未通过，许可已撤销，项目暂停，请按一般程序重新申请。意见：{comment}",
        ),
        Wording(
            "Commitment failed verification",
            "The commitment for {step_en} failed verification: the permit is revoked and the project "
            "suspended until it is applied for again in standard mode. Remarks: {comment}",
        ),
    ),
    "step_yellow": (
        Wording("即将到期（黄灯）", "{step_zh}即将到达{limit}个工作日的承诺时限，请{department_zh}抓紧办理。"),
        Wording(
            "Nearly due (yellow)",
            "{step_en} is close to its {limit}-working-day limit; {department_en} should decide soon.",
        ),
    ),
    "step_red": (
        Wording("已超期（红灯）", "{step_zh}已超过承诺时限（{department_zh}）。"),
        Wording("Overdue (red)", "{step_en} is past its limit ({department_en})."),
    ),
    "overdue": (
        Wording("已超期", "{step_zh}已超过{limit}个工作日的承诺时限，尚未办结（{department_zh}）。"),
        Wording("Overdue", "{step_en} is past its {limit}-working-day limit and not decided ({department_en})."),
    ),
    "problem_raised": (
        Wording("新的协调问题", "协调问题 {problem}（第{level}级）待您处理：{summary}"),
        Wording(
            "New coordination problem", "Coordination problem {problem} (level {level}) is yours to handle: {summary}"
        ),
    ),
    "problem_escalated": (
        Wording("协调问题升级", "协调问题 {problem} 已升至第{level}级，待您处理：{summary}"),
        Wording(
            "Coordination problem escalated",
            "Coordination problem {problem} has reached level {level} and is yours to handle: {summary}",
        ),
    ),
    "problem_reminder": (
        Wording("协调问题仍未解决", "协调问题 {problem} 仍未解决（第{reminders}次提醒）：{summary}"),
        Wording(
            "Coordination problem still open",
            "Coordination problem {problem} is still unresolved (reminder {reminders}): {summary}",
        ),
    ),
    "bad_rating": (
        Wording("差评待整改", "{step_zh}收到{score}分的差评，请在5个工作日内答复整改情况。评价：{comment}"),
        Wording(
            "Bad rating to answer",
            "{step_en} was rated {score}; answer with what you changed within 5 working days. Comment: {comment}",
        ),
    ),
    "rectification_answered": (
        Wording("整改已答复", "{department_zh}已答复{step_zh}的整改，请确认是否接受：{answer}"),
        Wording(
            "Rectification answered",
            "{department_en} answered the rectification of {step_en}; please accept or reject it: {answer}",
        ),
    ),
    "completed": (
        Wording("项目已办结", "项目所有审批事项均已办结。"),
        Wording("Project completed", "Every step of the project is done: it is completed."),
    ),
    "digest": (
        Wording("每日简报", "{day} 每日简报：红灯项目 {red_count} 个，第三、四级协调问题 {problem_count} 个。"),
        Wording(
            "Daily digest",
            "Daily digest for {day}: {red_count} red project(s), {problem_count} coordination problem(s) at level 3 or 4.",
        ),
    ),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _wording(kind: str, language: str) -> Wording:
    chinese, english = TEMPLATES[kind]  # type: ignore[index]
    return chinese if language.startswith("zh") else english


def sentence(kind: str, params: dict[str, Any], language: str) -> str:
    """The notice in one language: the project named first, then what happened, then any list."""
    values = _Blank(params, red_count=len(params.get("red", [])), problem_count=len(params.get("problems", [])))
    text = _wording(kind, language).sentence.format_map(values)
    if params.get("project"):
        project = params["project"]
        text = f"项目「{project}」：{text}" if language.startswith("zh") else f"Project “{project}”: {text}"
    return "\n".join([text, *_digest_lines(params, language)])


def headline(kind: str, params: dict[str, Any], language: str) -> str:
    """A mail's subject: what happened, and to which project."""
    chinese = language.startswith("zh")
    what = _wording(kind, language).headline
    about = params.get("project") or params.get("day") or ""
    return f"【项目审批】{what}：{about}" if chinese else f"[Approvals] {what}: {about}"


def _digest_lines(params: dict[str, Any], language: str) -> list[str]:
    chinese = language.startswith("zh")
    lines = []
    for item in params.get("red", []):
        lines.append(
            f"· 红灯：{item['name']}（{item['code']}）" if chinese else f"· Red: {item['name']} ({item['code']})"
        )
    for item in params.get("problems", []):
        level, summary = item["level"], item["summary"]
        lines.append(
            f"· 第{level}级问题 {item['problem']}：{item['name']}，{summary}"
            if chinese
            else f"· Level {level} problem {item['problem']}: {item['name']}, {summary}"
        )
    return lines
