# fmt: off
# ruff: noqa
# The user's guide's callback, verbatim (shared/reference/seed-guide-eventbridge-scheduler-lambda-proxy.md,
# "lambda_handler.py"; its Korean comments lost characters to the guide's encoding). The benchmark's
# baseline: not linted, not formatted, not type-checked, never imported by the project.
"""
EventBridge Scheduler�서 호출�는 Lambda 함수
API Gateway Proxy 형�으로 FastAPI를 실행
"""
from fastapi import FastAPI, HTTPException
from mangum import Mangum
from pydantic import BaseModel
from typing import Dict, Any
import logging

# 로깅 설정
logger = logging.getLogger()
logger.setLevel(logging.INFO)

# FastAPI 앱 �성
app = FastAPI(title="Scheduled Tasks Lambda")

# ========================================
# Pydantic 스키마
# ========================================

class TaskCallbackRequest(BaseModel):
    """콜백 요� 스키마"""
    task_id: str
    user_id: int
    action: str
    data: Dict[str, Any] = {}


class TaskCallbackResponse(BaseModel):
    """콜백 �답 스키마"""
    success: bool
    message: str
    task_id: str


# ========================================
# FastAPI �우터
# ========================================

@app.get("/health")
def health_check():
    """헬스체��"""
    return {"status": "ok", "service": "scheduled-tasks-lambda"}


@app.post("/api/v1/tasks/callback", response_model=TaskCallbackResponse)
async def handle_task_callback(request: TaskCallbackRequest):
    """
    EventBridge Scheduler → Lambda → � 엔드���트
    
    스케줄� �업� 실행� 때 호출�니다.
    """
    try:
        logger.info(f"Task callback: {request.model_dump()}")
        
        # ========================================
        # 여기� 비즈니스 로� �성
        # ========================================
        
        if request.action == "send_notification":
            # 알림 발송 로�
            logger.info(f"Sending notification to user {request.user_id}")
            # send_notification(request.user_id, request.data)
            
        elif request.action == "process_payment":
            # 결제 처리 로�
            logger.info(f"Processing payment for task {request.task_id}")
            # process_payment(request.data)
            
        elif request.action == "cleanup":
            # 정리 �업 로�
            logger.info(f"Cleaning up resources for {request.task_id}")
            # cleanup_resources(request.data)
            
        else:
            logger.warning(f"Unknown action: {request.action}")
        
        # ========================================
        # �답 반환
        # ========================================
        
        return TaskCallbackResponse(
            success=True,
            message=f"Task {request.task_id} processed successfully",
            task_id=request.task_id
        )
        
    except Exception as e:
        logger.error(f"Task callback failed: {str(e)}")
        raise HTTPException(
            status_code=500,
            detail=f"Task processing failed: {str(e)}"
        )


# ========================================
# Mangum Handler (Lambda 진��)
# ========================================

# API Gateway Proxy 형�� FastAPI로 변환
handler = Mangum(app, lifespan="off")


def lambda_handler(event, context):
    """Lambda 진��"""
    logger.info(f"Received event: {event}")
    
    # Mangum� API Gateway Proxy 형�� FastAPI로 변환
    return handler(event, context)
